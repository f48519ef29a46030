import AsyncHTTPClient
import Foundation
import NIOCore

/// Who the credentials belong to.
public struct CallerIdentity: Sendable, Equatable {
    public var account: String
    public var arn: String
    public var userId: String
}

/// AWS Security Token Service (Query protocol, SigV4 service `sts`); only what a push needs.
public struct STSClient: Sendable {
    let transport: AWSTransport

    public init(
        httpClient: HTTPClient, credentials: AWSCredentials, region: String, endpoint: AWSEndpoint,
        timeout: TimeAmount = .seconds(30), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        transport = AWSTransport(
            httpClient: httpClient, credentials: credentials, region: region, signingName: "sts",
            endpoint: endpoint, timeout: timeout, now: now)
    }

    static let headers: [(name: String, value: String)] = [
        (name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
    ]

    /// The account id, ARN and user id of the credentials.
    public func getCallerIdentity() async throws -> CallerIdentity {
        let operation = "GetCallerIdentity"
        let body = Data("Action=GetCallerIdentity&Version=2011-06-15".utf8)
        let data = try await transport.post(
            operation: operation, headers: Self.headers, body: body,
            parseError: AWSXML.parseError)
        let xml = String(decoding: data, as: UTF8.self)
        guard let account = AWSXML.text(of: "Account", in: xml), let arn = AWSXML.text(of: "Arn", in: xml) else {
            throw AWSError.malformedResponse(operation: operation, detail: "no <Account> or <Arn> in the answer")
        }
        return CallerIdentity(account: account, arn: arn, userId: AWSXML.text(of: "UserId", in: xml) ?? "")
    }
}
