/// Blank-trimming for settings text, without Foundation's `trimmingCharacters(in:)`: the agent
/// imports FoundationEssentials only, which does not carry `CharacterSet` string trimming
/// (`firstRange(of:)` from the standard library's string processing replaces `range(of:)`).
///
/// Blanks are space, tab and the other Unicode white-space characters that are not line breaks
/// (`Character.isWhitespace && !isNewline`), as `CharacterSet.whitespaces` holds.
extension StringProtocol {
    /// The text without leading and trailing blanks.
    var trimmingBlanks: String {
        guard let first = firstIndex(where: { !Self.isBlank($0) }) else { return "" }
        let last = lastIndex(where: { !Self.isBlank($0) })!
        return String(self[first...last])
    }

    private static func isBlank(_ c: Character) -> Bool { c.isWhitespace && !c.isNewline }
}

extension StringProtocol {
    /// The text without leading and trailing white space, line breaks included (what Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)` gives; `Character.isWhitespace` covers both).
    var trimmingWhitespace: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }
}
