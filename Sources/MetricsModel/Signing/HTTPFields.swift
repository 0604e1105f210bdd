/// Header fields looked up case-insensitively, each name's field lines
/// combined as RFC 9421 §2.1 asks for a covered field: leading and trailing
/// whitespace removed from each line, lines joined with `", "` in order.
struct HTTPFieldLookup {
    private var combined: [String: String] = [:]

    init(_ fields: [(name: String, value: String)]) {
        for (name, value) in fields {
            let key = name.lowercased()
            let trimmed = Self.trim(value)
            if let existing = combined[key] {
                combined[key] = existing + ", " + trimmed
            } else {
                combined[key] = trimmed
            }
        }
    }

    /// The combined value of `name` (any case), or nil when absent.
    subscript(name: String) -> String? { combined[name.lowercased()] }

    static func trim(_ s: String) -> String {
        var scalars = Substring(s).unicodeScalars[...]
        while let f = scalars.first, f == " " || f == "\t" { scalars.removeFirst() }
        while let l = scalars.last, l == " " || l == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
