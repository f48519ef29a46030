import Foundation

/// The URL a service client talks to, and why (for error messages).
public struct AWSEndpoint: Sendable, Equatable {
    public var url: URL
    public var source: String

    public init(url: URL, source: String) {
        self.url = url
        self.source = source
    }

    /// The services this module calls, with their signing names and default hosts.
    public enum Service: String, Sendable {
        case ecr
        case sts

        /// The service id in `AWS_ENDPOINT_URL_<ID>`.
        var environmentSuffix: String { rawValue.uppercased() }

        func defaultHost(region: String) -> String {
            let suffix = AWSEndpoint.dnsSuffix(region: region)
            switch self {
            case .ecr: return "api.ecr.\(region).\(suffix)"
            case .sts: return "sts.\(region).\(suffix)"
            }
        }
    }

    /// China regions live under their own DNS suffix.
    public static func dnsSuffix(region: String) -> String {
        region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
    }

    /// Order: an explicit URL (`--endpoint-url`), `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, then the regional default.
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` ignores the environment, as in the AWS CLI.
    public static func resolve(
        service: Service, region: String, explicit: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AWSEndpoint {
        if let explicit, !explicit.isEmpty {
            return try validated(explicit, source: "--endpoint-url")
        }
        let ignore = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true"
        if !ignore {
            let specific = "AWS_ENDPOINT_URL_\(service.environmentSuffix)"
            if let value = environment[specific], !value.isEmpty {
                return try validated(value, source: specific)
            }
            if let value = environment["AWS_ENDPOINT_URL"], !value.isEmpty {
                return try validated(value, source: "AWS_ENDPOINT_URL")
            }
        }
        guard isValidRegion(region) else {
            throw AWSError.invalidEndpoint(value: service.defaultHost(region: region), source: "region \"\(region)\"")
        }
        let url = URL(string: "https://\(service.defaultHost(region: region))")!
        return AWSEndpoint(url: url, source: "the default endpoint for \(region)")
    }

    static func validated(_ value: String, source: String) throws -> AWSEndpoint {
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https",
            let host = url.host(percentEncoded: false), !host.isEmpty
        else {
            throw AWSError.invalidEndpoint(value: value, source: source)
        }
        return AWSEndpoint(url: url, source: source)
    }

    /// Region names are lowercase letters, digits and dashes (`us-east-1`, `cn-north-1`, `us-gov-west-1`).
    static func isValidRegion(_ region: String) -> Bool {
        !region.isEmpty
            && region.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-")
            }
    }
}
