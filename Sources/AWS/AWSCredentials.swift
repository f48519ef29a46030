import Foundation

/// An AWS access key pair, with the session token of temporary credentials.
/// Descriptions and mirrors never show the secret or the token: these values end up in logs and error messages.
public struct AWSCredentials: Sendable, Hashable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working (from `credential_process`), nil when unknown.
    public var expiration: Date?
    /// Where the credentials came from, in words a user recognises ("environment variables ...", "profile \"dev\" in ~/.aws/credentials").
    public var source: String

    public init(
        accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil,
        expiration: Date? = nil, source: String = "explicit credentials"
    ) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken.flatMap { $0.isEmpty ? nil : $0 }
        self.expiration = expiration
        self.source = source
    }

    /// The access key id with all but its last four characters masked, as the AWS CLI shows it.
    public var maskedAccessKeyId: String {
        let visible = accessKeyId.suffix(4)
        return String(repeating: "*", count: max(accessKeyId.count - visible.count, 0)) + visible
    }
}

extension AWSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "AWSCredentials(accessKeyId: \(maskedAccessKeyId), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"), source: \(source))"
    }

    public var debugDescription: String { description }

    /// `dump()` and the debugger use the mirror: keep the secret out of it too.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyId": maskedAccessKeyId,
                "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "none" : "<redacted>",
                "expiration": expiration as Any,
                "source": source,
            ], displayStyle: .struct)
    }
}
