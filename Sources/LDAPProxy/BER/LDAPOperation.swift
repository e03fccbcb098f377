/// The protocolOp of an LDAPMessage: its `[APPLICATION n]` tag number (RFC 4511 §4.2–4.14).
public enum LDAPOperation: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case bindRequest = 0, bindResponse = 1, unbindRequest = 2
    case searchRequest = 3, searchResultEntry = 4, searchResultDone = 5
    case modifyRequest = 6, modifyResponse = 7, addRequest = 8, addResponse = 9
    case delRequest = 10, delResponse = 11, modifyDNRequest = 12, modifyDNResponse = 13
    case compareRequest = 14, compareResponse = 15, abandonRequest = 16
    case searchResultReference = 19, extendedRequest = 23, extendedResponse = 24, intermediateResponse = 25

    public var description: String {
        switch self {
        case .bindRequest: "bind"
        case .bindResponse: "bind-response"
        case .unbindRequest: "unbind"
        case .searchRequest: "search"
        case .searchResultEntry: "search-entry"
        case .searchResultDone: "search-done"
        case .modifyRequest: "modify"
        case .modifyResponse: "modify-response"
        case .addRequest: "add"
        case .addResponse: "add-response"
        case .delRequest: "delete"
        case .delResponse: "delete-response"
        case .modifyDNRequest: "modify-dn"
        case .modifyDNResponse: "modify-dn-response"
        case .compareRequest: "compare"
        case .compareResponse: "compare-response"
        case .abandonRequest: "abandon"
        case .searchResultReference: "search-reference"
        case .extendedRequest: "extended"
        case .extendedResponse: "extended-response"
        case .intermediateResponse: "intermediate"
        }
    }

    /// Requests a client sends; the rest come from servers.
    public var isRequest: Bool {
        switch self {
        case .bindRequest, .unbindRequest, .searchRequest, .modifyRequest, .addRequest, .delRequest,
             .modifyDNRequest, .compareRequest, .abandonRequest, .extendedRequest: true
        default: false
        }
    }

    /// A response that ends its request (search entries and references, and intermediate responses, do not).
    public var isFinalResponse: Bool {
        switch self {
        case .bindResponse, .searchResultDone, .modifyResponse, .addResponse, .delResponse,
             .modifyDNResponse, .compareResponse, .extendedResponse: true
        default: false
        }
    }

    /// Responses that start with an LDAPResult (resultCode first).
    var carriesResult: Bool { isFinalResponse }
}
