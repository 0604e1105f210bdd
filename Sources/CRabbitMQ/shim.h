// Thin shim over librabbitmq 0.11 (rabbitmq-c). amqp_login is variadic: this
// wrapper fixes its SASL method to PLAIN (user, password).
#ifndef CLOWDER_CRABBITMQ_SHIM_H
#define CLOWDER_CRABBITMQ_SHIM_H
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_framing.h>

static inline amqp_rpc_reply_t crabbitmq_login_plain(amqp_connection_state_t state, const char *vhost,
                                                     int channel_max, int frame_max, int heartbeat,
                                                     const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}
#endif
