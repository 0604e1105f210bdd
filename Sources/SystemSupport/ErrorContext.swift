/// The message of an error that wraps another, as the agent, ingest and sinks word it:
/// `context: cause` (the cause's own description), the cause alone when there is no context,
/// and the context alone when nothing is wrapped.
///
/// ```swift
/// wrappedMessage("cannot open spool /var/lib/x.db", underlying: sqliteError)
/// // "cannot open spool /var/lib/x.db: unable to open database file (SQLITE_CANTOPEN)"
/// ```
package func wrappedMessage(_ context: String, underlying: (any Error)?) -> String {
    guard let underlying else { return context }
    return context.isEmpty ? "\(underlying)" : "\(context): \(underlying)"
}
