/// Settings of a ``LogTail``.
///
/// ```swift
/// var options = LogTailOptions()
/// options.startAtBeginning = true        // also read what is already in the files
/// options.maxLineLength = 16 * 1024      // cut lines longer than 16 KiB
/// let tail = try LogTail(paths: ["/var/log/nginx/*.log"], options: options)
/// ```
public struct LogTailOptions: Sendable, Equatable {
    /// Longest line handed out, in bytes without the newline (default 65,536).
    /// A longer line is cut: its first `maxLineLength` bytes are handed out
    /// once its newline has arrived, the rest is skipped, and it is counted in
    /// ``LogTailStats/overlongLines`` with a sample of its start.
    public var maxLineLength: Int = 64 * 1024

    /// Whether files present at the very first start (no checkpoints given)
    /// are read from their beginning (`true`) or from their end (`false`, the
    /// default, like `tail -F`). Files that appear later are always read from
    /// their beginning, and so are files found at a restart (checkpoints
    /// given) that match no checkpoint: they appeared while the tail was stopped.
    public var startAtBeginning: Bool = false

    /// How long a file that left its watched path (renamed away by rotation,
    /// or deleted) is kept open after it stopped growing (default 5 s), so
    /// lines NGINX workers still write to the old descriptor before reopening
    /// their logs (`kill -USR1`) are not lost. Fluent Bit's `Rotate_Wait`.
    public var rotateWait: Duration = .seconds(5)

    /// Shortest time between two returns of ``LogTail/waitForData(timeout:)``
    /// (default 20 ms): on a busy log a wait then gathers many lines for the
    /// next poll instead of waking for each write. Lines are still handed
    /// out within about this delay.
    public var minimumPollInterval: Duration = .milliseconds(20)

    /// Size of the one reusable read buffer, in bytes (default 256 KiB); the
    /// buffer is this plus ``maxLineLength``. Each `read(2)` asks for up to this much.
    public var readBufferSize: Int = 256 * 1024

    /// Most bytes read from one file in one ``LogTail/poll(_:)`` (default 16 MiB),
    /// so one busy file cannot starve the others; ``LogTail/waitForData(timeout:)``
    /// returns at once while a file has more.
    public var maxBytesPerFilePerPoll: Int64 = 16 * 1024 * 1024

    /// Creates the default options.
    public init() {}
}
