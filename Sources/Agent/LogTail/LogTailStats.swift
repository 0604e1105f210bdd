/// Counters of a ``LogTail`` since it was created (not persisted across restarts).
public struct LogTailStats: Sendable, Equatable {
    /// Lines handed to the `poll` closure (over-long lines included, cut).
    public var lines: Int64 = 0
    /// Bytes consumed, newlines and the skipped parts of over-long lines included.
    public var bytes: Int64 = 0
    /// Times a followed file was found shorter than the position read so far,
    /// or with different first bytes (copytruncate): it is read again from 0.
    public var truncations: Int64 = 0
    /// Times a followed file left its watched path: renamed (`mv` before
    /// `kill -USR1`) or deleted.
    public var rotations: Int64 = 0
    /// Lines longer than ``LogTailOptions/maxLineLength`` (handed out cut).
    public var overlongLines: Int64 = 0
    /// Up to 5 samples of over-long lines: where each started and its first 256 bytes.
    public var overlongLineSamples: [LineSample] = []
    /// Files found after the start that could not be opened or read (retried; never fatal).
    public var openErrors: Int64 = 0
    /// Files currently open (followed files, rotated files still being finished,
    /// and copies waiting to be needed).
    public var filesOpen: Int = 0

    /// The start of a line, for the operator.
    public struct LineSample: Sendable, Equatable {
        /// The file's path when the line was read.
        public var path: String
        /// Byte offset of the line's start in the file.
        public var offset: Int64
        /// The line's first bytes (at most 256).
        public var start: [UInt8]
    }

    /// Creates zeroed counters.
    public init() {}
}
