/// A plain text table with aligned columns; cells may carry an ANSI colour used only when
/// writing to a terminal (widths ignore the escape codes).
struct TextTable {
    enum Color: String {
        case green = "32", yellow = "33", red = "31", dim = "2", bold = "1"
    }

    struct Cell {
        var text: String
        var color: Color?
        init(_ text: String, _ color: Color? = nil) {
            self.text = text
            self.color = color
        }
    }

    var headers: [String]
    var rows: [[Cell]] = []

    init(_ headers: [String]) { self.headers = headers }

    mutating func add(_ cells: [Cell]) { rows.append(cells) }

    func render(color: Bool) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.text.count) }
        }
        func line(_ cells: [Cell]) -> String {
            cells.enumerated().map { i, cell in
                let padded = i == cells.count - 1 ? cell.text : cell.text.padding(toLength: widths[i])
                guard color, let c = cell.color else { return padded }
                return "\u{1B}[\(c.rawValue)m\(padded)\u{1B}[0m"
            }.joined(separator: "  ")
        }
        var out = [line(headers.map { Cell($0, .bold) })]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
