import Foundation

/// Everything that can go wrong talking to AWS, worded so the user knows what to do next.
/// No case carries a secret: credentials only appear as their source and masked key id.
public enum AWSError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A malformed line in a shared config or credentials file.
    case configFile(path: String, line: Int, message: String)
    case profileNotFound(profile: String, searched: [String])
    case noCredentials(profile: String, searched: [String])
    /// The profile asks for a credential source this tool does not implement (role_arn, SSO, web identity).
    case unsupportedCredentialSource(profile: String, path: String, setting: String)
    case incompleteCredentials(source: String, missing: String)
    case credentialProcessFailed(profile: String, command: String, detail: String)
    case noRegion(profile: String, searched: [String])
    case invalidEndpoint(value: String, source: String)
    /// AWS did not accept the credentials (bad key, bad signature, expired token).
    case credentialsRejected(code: String, message: String, source: String)
    case accessDenied(operation: String, message: String, source: String)
    case repositoryNotFound(name: String, message: String)
    case repositoryAlreadyExists(name: String)
    case lifecyclePolicyInvalid(repository: String, message: String)
    case imageNotFound(repository: String, digest: String, message: String)
    /// No scan exists for the image (yet).
    case scanNotFound(repository: String, digest: String)
    /// The scan ended without findings (FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE, ...).
    case scanFailed(repository: String, digest: String, status: String, detail: String)
    case scanTimedOut(repository: String, digest: String, seconds: Int, lastStatus: String)
    /// Any other error answer from the service.
    case service(operation: String, status: Int, code: String, message: String)
    case transport(operation: String, endpoint: String, detail: String)
    case malformedResponse(operation: String, detail: String)
    case invalidRegistryHost(String)

    public var description: String {
        switch self {
        case let .configFile(path, line, message):
            return line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)"
        case let .profileNotFound(profile, searched):
            return
                "AWS profile \"\(profile)\" was not found in \(Self.list(searched)): add it with `aws configure --profile \(profile)`, or pick another profile with AWS_PROFILE"
        case let .noCredentials(profile, searched):
            return
                "no AWS credentials found (profile \"\(profile)\"); looked in: \(searched.joined(separator: "; ")). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run `aws configure`, or add a credential_process to the profile"
        case let .unsupportedCredentialSource(profile, path, setting):
            return
                "\(path): profile \"\(profile)\" gets its credentials through \(setting), which imagekit does not support; export temporary credentials first, e.g. `eval \"$(aws configure export-credentials --profile \(profile) --format env)\"`, or set credential_process = aws configure export-credentials --profile \(profile) in another profile"
        case let .incompleteCredentials(source, missing):
            return "incomplete AWS credentials in \(source): \(missing) is missing or empty"
        case let .credentialProcessFailed(profile, command, detail):
            return "credential_process of profile \"\(profile)\" (\(command)) failed: \(detail)"
        case let .noRegion(profile, searched):
            return
                "no AWS region configured (profile \"\(profile)\"); looked in: \(searched.joined(separator: "; ")). Set AWS_REGION, or `aws configure set region REGION --profile \(profile)`"
        case let .invalidEndpoint(value, source):
            return
                "invalid endpoint URL \"\(value)\" from \(source): expected an absolute http(s) URL such as https://api.ecr.us-east-1.amazonaws.com"
        case let .credentialsRejected(code, message, source):
            return
                "AWS rejected the credentials from \(source) (\(code): \(message)): check that the access key is active and the secret matches (`aws sts get-caller-identity`), that a session token is set for temporary credentials and has not expired, and that the machine clock is right"
        case let .accessDenied(operation, message, source):
            return
                "AWS denied \(operation) for the credentials from \(source): \(message). Grant the IAM permission for it (e.g. ecr:\(operation)) or use another profile"
        case let .repositoryNotFound(name, message):
            return
                "ECR repository \"\(name)\" does not exist (\(message)): create it with `aws ecr create-repository --repository-name \(name)` or let imagekit create it"
        case let .repositoryAlreadyExists(name):
            return "ECR repository \"\(name)\" already exists"
        case let .lifecyclePolicyInvalid(repository, message):
            return "ECR refused the lifecycle policy for \"\(repository)\": \(message)"
        case let .imageNotFound(repository, digest, message):
            return "ECR repository \"\(repository)\" has no image \(digest) (\(message)): push it first"
        case let .scanNotFound(repository, digest):
            return
                "ECR has no scan of \(repository)@\(digest): turn on scan on push (`aws ecr put-image-scanning-configuration --repository-name \(repository) --image-scanning-configuration scanOnPush=true`) or start one with `aws ecr start-image-scan`"
        case let .scanFailed(repository, digest, status, detail):
            return
                "the ECR scan of \(repository)@\(digest) ended with \(status)\(detail.isEmpty ? "" : ": \(detail)"); no findings to check, so the image is not released. See https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-troubleshooting.html"
        case let .scanTimedOut(repository, digest, seconds, lastStatus):
            return
                "the ECR scan of \(repository)@\(digest) did not complete within \(seconds) s (last status: \(lastStatus)); nothing was deployed. Re-run the push later (it uploads nothing again) or raise --scan-timeout"
        case let .service(operation, status, code, message):
            return "AWS \(operation) failed with HTTP \(status) \(code): \(message)"
        case let .transport(operation, endpoint, detail):
            return
                "could not reach \(endpoint) for \(operation): \(detail). Check the network, the region and any endpoint override (--endpoint-url, AWS_ENDPOINT_URL_*)"
        case let .malformedResponse(operation, detail):
            return "unexpected answer from AWS to \(operation): \(detail)"
        case let .invalidRegistryHost(host):
            return
                "\"\(host)\" is not an ECR registry host: expected ACCOUNT.dkr.ecr.REGION.amazonaws.com (12-digit account id)"
        }
    }

    static func list(_ items: [String]) -> String {
        items.isEmpty ? "(no files)" : items.joined(separator: " and ")
    }
}
