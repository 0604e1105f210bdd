/// The one error type of `MetricsModel`: a code and a message that names the
/// member, header or parameter at fault.
public struct ModelError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure.
    public enum Code: String, Sendable {
        /// A batch, point or event that does not have the documented shape.
        case invalid
        /// A signature that is missing, malformed or does not verify (RFC 9421).
        case signature
        /// A `Content-Digest` that is missing or does not match (RFC 9530).
        case digest
        /// `created` outside the allowed clock skew.
        case expired
        /// An unknown `keyid`.
        case unknownKey
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
