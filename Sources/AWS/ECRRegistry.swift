import Foundation

/// An ECR registry host: `ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]`.
public struct ECRRegistry: Sendable, Hashable, CustomStringConvertible {
    public var accountId: String
    public var region: String
    public var fips: Bool

    public init(accountId: String, region: String, fips: Bool = false) {
        self.accountId = accountId
        self.region = region
        self.fips = fips
    }

    /// Parses a registry host; a port or scheme is not part of it.
    public init(host: String) throws {
        let lower = host.lowercased()
        let labels = lower.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // ACCOUNT . dkr . ecr[-fips] . REGION . amazonaws . com [. cn]
        guard labels.count == 6 || labels.count == 7,
            labels[0].count == 12, labels[0].allSatisfy({ $0.isASCII && $0.isNumber }),
            labels[1] == "dkr", labels[2] == "ecr" || labels[2] == "ecr-fips",
            AWSEndpoint.isValidRegion(labels[3]),
            labels[4] == "amazonaws", labels[5] == "com"
        else {
            throw AWSError.invalidRegistryHost(host)
        }
        let china = labels.count == 7
        guard !china || labels[6] == "cn", china == labels[3].hasPrefix("cn-") else {
            throw AWSError.invalidRegistryHost(host)
        }
        self.init(accountId: labels[0], region: labels[3], fips: labels[2] == "ecr-fips")
    }

    /// True when `host` names an ECR registry (so pushes there need ECR credentials).
    public static func isECRHost(_ host: String) -> Bool {
        (try? ECRRegistry(host: host)) != nil
    }

    public var host: String {
        "\(accountId).dkr.\(fips ? "ecr-fips" : "ecr").\(region).\(AWSEndpoint.dnsSuffix(region: region))"
    }

    public var description: String { host }
}
