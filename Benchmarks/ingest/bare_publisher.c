/* The ceiling for the ingest benchmark: librabbitmq alone publishing
 * persistent JSON messages of a given size to a fanout exchange with
 * publisher confirms, keeping at most WINDOW messages unconfirmed (the ingest
 * pipelines concurrent batches the same way on its one connection).
 *
 * usage: bare_publisher HOST PORT EXCHANGE MESSAGES BODY_BYTES WINDOW
 * prints: messages=N seconds=S msgs_per_s=R
 *
 * Set-up and clean-up for the benchmark (a durable queue with x-max-length
 * 200000 bound to the durable fanout exchange, so the disk stays bounded):
 *        bare_publisher declare HOST PORT EXCHANGE QUEUE
 *        bare_publisher delete HOST PORT EXCHANGE QUEUE
 * The size of the messages in a queue (the first one, taken and returned):
 *        bare_publisher peek HOST PORT QUEUE
 *        prints: bytes=N
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die_on_reply(amqp_rpc_reply_t r, const char *what) {
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "bare_publisher: %s failed (reply type %d)\n", what, r.reply_type);
        exit(1);
    }
}

static amqp_connection_state_t open_connection(const char *host, int port) {
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    if (amqp_socket_open(sock, host, port) != AMQP_STATUS_OK) { fprintf(stderr, "connect failed\n"); exit(1); }
    die_on_reply(amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
    amqp_channel_open(conn, 1);
    die_on_reply(amqp_get_rpc_reply(conn), "channel.open");
    return conn;
}

static int setup(int declare, const char *host, int port, const char *exchange, const char *queue) {
    amqp_connection_state_t conn = open_connection(host, port);
    if (declare) {
        amqp_exchange_declare(conn, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes("fanout"), 0, 1, 0, 0, amqp_empty_table);
        die_on_reply(amqp_get_rpc_reply(conn), "exchange.declare");
        amqp_table_entry_t e = {.key = amqp_cstring_bytes("x-max-length")};
        e.value.kind = AMQP_FIELD_KIND_I64;
        e.value.value.i64 = 200000;
        amqp_table_t args = {.num_entries = 1, .entries = &e};
        amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, args);
        die_on_reply(amqp_get_rpc_reply(conn), "queue.declare");
        amqp_queue_bind(conn, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange), amqp_empty_bytes, amqp_empty_table);
        die_on_reply(amqp_get_rpc_reply(conn), "queue.bind");
    } else {
        amqp_queue_delete(conn, 1, amqp_cstring_bytes(queue), 0, 0);
        amqp_get_rpc_reply(conn);
        amqp_exchange_delete(conn, 1, amqp_cstring_bytes(exchange), 0);
        amqp_get_rpc_reply(conn);
    }
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    return 0;
}

static int peek(const char *host, int port, const char *queue) {
    amqp_connection_state_t conn = open_connection(host, port);
    amqp_rpc_reply_t r = amqp_basic_get(conn, 1, amqp_cstring_bytes(queue), 0);
    die_on_reply(r, "basic.get");
    if (r.reply.id != AMQP_BASIC_GET_OK_METHOD) { fprintf(stderr, "bare_publisher: queue %s is empty\n", queue); return 1; }
    amqp_message_t m;
    die_on_reply(amqp_read_message(conn, 1, &m, 0), "read message");
    printf("bytes=%zu\n", m.body.len);
    amqp_destroy_message(&m);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);  /* unacknowledged: it goes back to the queue */
    amqp_destroy_connection(conn);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "peek") == 0) return peek(argv[2], atoi(argv[3]), argv[4]);
    if (argc == 6 && (strcmp(argv[1], "declare") == 0 || strcmp(argv[1], "delete") == 0))
        return setup(strcmp(argv[1], "declare") == 0, argv[2], atoi(argv[3]), argv[4], argv[5]);
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT EXCHANGE MESSAGES BODY_BYTES WINDOW\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    const char *exchange = argv[3];
    long total = atol(argv[4]);
    int size = atoi(argv[5]);
    long window = atol(argv[6]);

    amqp_connection_state_t conn = open_connection(host, port);
    amqp_exchange_declare(conn, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes("fanout"), 0, 1, 0, 0, amqp_empty_table);
    die_on_reply(amqp_get_rpc_reply(conn), "exchange.declare");
    amqp_confirm_select(conn, 1);
    die_on_reply(amqp_get_rpc_reply(conn), "confirm.select");

    char *body = malloc(size);
    memset(body, 'x', size);
    body[0] = '{'; body[size - 1] = '}';
    char id[64];
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = 2;
    props.timestamp = (uint64_t)time(NULL);

    long published = 0, confirmed = 0, nacked = 0;
    double t0 = now();
    while (confirmed < total) {
        while (published < total && published - confirmed < window) {
            snprintf(id, sizeof id, "bare:%ld", published);
            props.message_id = amqp_cstring_bytes(id);
            amqp_bytes_t b = {.len = (size_t)size, .bytes = body};
            if (amqp_basic_publish(conn, 1, amqp_cstring_bytes(exchange), amqp_empty_bytes, 0, 0, &props, b) != AMQP_STATUS_OK) {
                fprintf(stderr, "publish failed\n");
                return 1;
            }
            published++;
        }
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) { fprintf(stderr, "wait frame failed\n"); return 1; }
        if (frame.frame_type != AMQP_FRAME_METHOD) continue;
        if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD || frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            uint64_t tag; int multiple;
            if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
                amqp_basic_ack_t *a = frame.payload.method.decoded; tag = a->delivery_tag; multiple = a->multiple;
            } else {
                amqp_basic_nack_t *n = frame.payload.method.decoded; tag = n->delivery_tag; multiple = n->multiple; nacked++;
            }
            if (multiple) confirmed = (long)tag; else confirmed++;
        }
        amqp_maybe_release_buffers(conn);
    }
    double dt = now() - t0;
    printf("messages=%ld seconds=%.3f msgs_per_s=%.0f nacked=%ld\n", total, dt, total / dt, nacked);
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    return 0;
}
