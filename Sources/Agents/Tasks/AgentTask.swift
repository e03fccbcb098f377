public import JSON

/// A task as submitters push it onto `<agent id>/tasks`.
public struct AgentTask: Sendable {
    public var id: String
    public var action: String
    public var data: JSONValue
    public var user: String
    /// The whole envelope as received (kept, masked, as the context).
    public var envelope: JSONValue

    /// Decodes a queue item.
    /// - Throws: the reason for the `Task ignored for decoding error:` log line.
    public static func decode(_ text: String) throws(TaskDecodingError) -> AgentTask {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch {
            throw TaskDecodingError(reason: goStyle(error, text))
        }
        guard case .object = value else {
            throw TaskDecodingError(reason: "json: cannot unmarshal \(kind(value)) into Go value of type models.Task")
        }
        func string(_ name: String, required: Bool) throws(TaskDecodingError) -> String {
            switch value[name] {
            case .string(let s)?: return s
            case nil, .null?:
                if required { throw TaskDecodingError(reason: "the task has no \"\(name)\"") }
                return ""
            case let other?:
                throw TaskDecodingError(reason: "json: cannot unmarshal \(kind(other)) into Go struct field Task.\(name) of type string")
            }
        }
        let id = try string("id", required: true)
        guard !id.isEmpty, !id.contains("/") else { throw TaskDecodingError(reason: "the task id \"\(id)\" is not usable in key names") }
        return AgentTask(id: id, action: try string("action", required: true), data: value["data"] ?? .null,
                         user: try string("user", required: false), envelope: value)
    }

    private static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool: "bool"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The parser's complaint in the words of the platform's original agent where they differ.
    private static func goStyle(_ error: JSONParseError, _ text: String) -> String {
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count, [9, 10, 13, 32].contains(bytes[start]) { start += 1 }
        if start == bytes.count { return "unexpected end of JSON input" }
        if error.offset == start, error.reason == "expected a value" {
            return "invalid character '\(Character(Unicode.Scalar(bytes[start])))' looking for beginning of value"
        }
        return error.description
    }
}

/// Why a queue item is not a task.
public struct TaskDecodingError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
