import AWS
import Archive
import Build
import Deploy
import Dockerfile
import OCI
import Policy
import Project
import Registry
import Store

/// The documented exit codes (`imagekit --help`), and the one table that gives every module's
/// error type its code. Modules know nothing of exit codes; only the executable does.
enum ExitStatus {
    static let success: Int32 = 0
    /// The image failed a check: a policy is violated, a build step failed, a scan found too much.
    static let checkFailed: Int32 = 1
    /// Usage or input error: bad arguments, unreadable or malformed files, unknown image.
    static let usage: Int32 = 2
    /// Remote error: registry or AWS unreachable, refused credentials, upload failed after retries.
    static let remote: Int32 = 3
    /// Interrupted (SIGINT); set by the build's signal handler, which exits itself.
    static let interrupted: Int32 = 130
}

/// Errors that know their exit code.
protocol ExitCoded { var exitCode: Int32 { get } }

extension StoreError: ExitCoded { var exitCode: Int32 { ExitStatus.usage } }
extension ArchiveError: ExitCoded { var exitCode: Int32 { ExitStatus.usage } }
extension RootedPathError: ExitCoded { var exitCode: Int32 { ExitStatus.usage } }
extension DockerfileError: ExitCoded { var exitCode: Int32 { ExitStatus.usage } }
extension ProjectError: ExitCoded { var exitCode: Int32 { ExitStatus.usage } }
extension OCIError: ExitCoded { var exitCode: Int32 { ExitStatus.usage } }
extension PolicyError: ExitCoded { var exitCode: Int32 { ExitStatus.usage } }
extension DeployError: ExitCoded { var exitCode: Int32 { ExitStatus.usage } }

extension BuildError: ExitCoded {
    var exitCode: Int32 {
        switch self {
        case .stepFailed, .checksumMismatch: return ExitStatus.checkFailed
        case .download: return ExitStatus.remote
        default: return ExitStatus.usage
        }
    }
}

/// What the user can fix in the command line or local files exits 2; the far side failing exits 3.
extension RegistryError: ExitCoded {
    var exitCode: Int32 {
        switch self {
        case .notFound, .invalidTag, .invalidImage, .credentials, .local: return ExitStatus.usage
        default: return ExitStatus.remote
        }
    }
}

extension AWSError: ExitCoded {
    var exitCode: Int32 {
        switch self {
        case .configFile, .profileNotFound, .noCredentials, .unsupportedCredentialSource, .incompleteCredentials,
            .credentialProcessFailed, .noRegion, .invalidEndpoint, .invalidRegistryHost, .repositoryNotFound,
            .repositoryAlreadyExists, .lifecyclePolicyInvalid:
            return ExitStatus.usage
        default:
            // Unreachable endpoints, refused credentials, denied calls, service faults, scans.
            return ExitStatus.remote
        }
    }
}
