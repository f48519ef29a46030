import Registry

/// Remote failures exit 3; what the user can fix in the command line or files exits 2.
extension RegistryError: ExitCoded {
    var exitCode: Int32 {
        switch self {
        case .notFound, .invalidTag, .invalidImage, .credentials, .local: return 2
        default: return 3
        }
    }
}
