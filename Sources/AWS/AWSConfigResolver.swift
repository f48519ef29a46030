import Foundation

/// Finds credentials and the region the way the AWS CLI does, from an explicit environment
/// (tests pass their own dictionary; the CLI passes the process environment):
///
/// 1. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` (skipped when a profile is given explicitly);
/// 2. the profile (`--profile`, else `AWS_PROFILE`, else `default`): `role_arn`, SSO and web identity are refused
///    with a way out; then static keys in the credentials file, then `credential_process`, then static keys in the config file.
///
/// Files: `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`, `AWS_CONFIG_FILE` or `~/.aws/config`.
public struct AWSConfigResolver: Sendable {
    public var environment: [String: String]
    /// A profile chosen on the command line; it wins over the environment's keys, as with `aws --profile`.
    public var explicitProfile: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, profile: String? = nil) {
        self.environment = environment
        self.explicitProfile = profile.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var profileName: String {
        explicitProfile ?? env("AWS_PROFILE") ?? env("AWS_DEFAULT_PROFILE") ?? "default"
    }

    /// True when the user named the profile; a missing named profile is an error, a missing `default` is not.
    var profileIsNamed: Bool {
        explicitProfile != nil || env("AWS_PROFILE") != nil || env("AWS_DEFAULT_PROFILE") != nil
    }

    public var credentialsFilePath: String {
        expand(env("AWS_SHARED_CREDENTIALS_FILE")) ?? home + "/.aws/credentials"
    }

    public var configFilePath: String {
        expand(env("AWS_CONFIG_FILE")) ?? home + "/.aws/config"
    }

    // MARK: - Credentials

    public func resolveCredentials() async throws -> AWSCredentials {
        var searched: [String] = []

        if explicitProfile == nil {
            let keyId = env("AWS_ACCESS_KEY_ID")
            let secret = env("AWS_SECRET_ACCESS_KEY")
            let source = "environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
            switch (keyId, secret) {
            case let (keyId?, secret?):
                return AWSCredentials(
                    accessKeyId: keyId, secretAccessKey: secret,
                    sessionToken: env("AWS_SESSION_TOKEN"), source: source)
            case (.some, nil):
                throw AWSError.incompleteCredentials(source: "the environment", missing: "AWS_SECRET_ACCESS_KEY")
            case (nil, .some):
                throw AWSError.incompleteCredentials(source: "the environment", missing: "AWS_ACCESS_KEY_ID")
            case (nil, nil):
                searched.append("\(source) (not set)")
            }
        }

        let profile = profileName
        let credentialsFile = try SharedConfigFile.load(path: credentialsFilePath)
        let configFile = try SharedConfigFile.load(path: configFilePath)
        let fromCredentials = credentialsFile?.credentialsProfile(profile)
        let fromConfig = configFile?.configProfile(profile)

        if fromCredentials == nil && fromConfig == nil && profileIsNamed {
            throw AWSError.profileNotFound(profile: profile, searched: [credentialsFilePath, configFilePath])
        }

        // Sources this tool cannot run come first in botocore's chain too: refuse them rather than silently using other keys.
        for (section, path) in [(fromConfig, configFilePath), (fromCredentials, credentialsFilePath)] {
            guard let section else { continue }
            if section.value("role_arn") != nil {
                throw AWSError.unsupportedCredentialSource(
                    profile: profile, path: path, setting: "role_arn (assume role)")
            }
            if section.value("web_identity_token_file") != nil {
                throw AWSError.unsupportedCredentialSource(
                    profile: profile, path: path, setting: "web_identity_token_file")
            }
            if section.value("sso_session") != nil || section.value("sso_start_url") != nil {
                throw AWSError.unsupportedCredentialSource(
                    profile: profile, path: path, setting: "AWS IAM Identity Center (SSO)")
            }
        }

        if let section = fromCredentials,
            section.value("aws_access_key_id") != nil || section.value("aws_secret_access_key") != nil
        {
            return try staticCredentials(section, profile: profile, path: credentialsFilePath)
        }
        searched.append(
            describe(profile: profile, path: credentialsFilePath, file: credentialsFile, section: fromCredentials))

        for (section, path) in [(fromConfig, configFilePath), (fromCredentials, credentialsFilePath)] {
            if let section, let command = section.value("credential_process") {
                return try await CredentialProcess(
                    command: command, profile: profile, path: path, environment: environment
                ).run()
            }
        }

        if let section = fromConfig,
            section.value("aws_access_key_id") != nil || section.value("aws_secret_access_key") != nil
        {
            return try staticCredentials(section, profile: profile, path: configFilePath)
        }
        searched.append(describe(profile: profile, path: configFilePath, file: configFile, section: fromConfig))
        searched.append("ECS container and EC2 instance credentials (not supported: export them into the environment)")
        throw AWSError.noCredentials(profile: profile, searched: searched)
    }

    private func staticCredentials(
        _ section: SharedConfigFile.Section, profile: String, path: String
    ) throws -> AWSCredentials {
        let source = "profile \"\(profile)\" in \(path)"
        guard let keyId = section.value("aws_access_key_id") else {
            throw AWSError.incompleteCredentials(source: source, missing: "aws_access_key_id")
        }
        guard let secret = section.value("aws_secret_access_key") else {
            throw AWSError.incompleteCredentials(source: source, missing: "aws_secret_access_key")
        }
        return AWSCredentials(
            accessKeyId: keyId, secretAccessKey: secret,
            sessionToken: section.value("aws_session_token"), source: source)
    }

    private func describe(
        profile: String, path: String, file: SharedConfigFile?, section: SharedConfigFile.Section?
    ) -> String {
        let what = "profile \"\(profile)\" in \(path)"
        if file == nil { return "\(what) (file not found)" }
        if section == nil { return "\(what) (no such profile)" }
        return "\(what) (no aws_access_key_id or credential_process)"
    }

    // MARK: - Region

    /// The region and where it came from: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region`.
    public func resolveRegion() throws -> (region: String, source: String) {
        if let region = env("AWS_REGION") { return (region, "AWS_REGION") }
        if let region = env("AWS_DEFAULT_REGION") { return (region, "AWS_DEFAULT_REGION") }
        let profile = profileName
        if let file = try SharedConfigFile.load(path: configFilePath),
            let region = file.configProfile(profile)?.value("region")
        {
            return (region, "profile \"\(profile)\" in \(configFilePath)")
        }
        if let file = try SharedConfigFile.load(path: credentialsFilePath),
            let region = file.credentialsProfile(profile)?.value("region")
        {
            return (region, "profile \"\(profile)\" in \(credentialsFilePath)")
        }
        throw AWSError.noRegion(
            profile: profile,
            searched: [
                "AWS_REGION", "AWS_DEFAULT_REGION",
                "region of profile \"\(profile)\" in \(configFilePath)",
            ])
    }

    // MARK: - Environment

    func env(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    var home: String {
        env("HOME") ?? FileManager.default.homeDirectoryForCurrentUser.path
    }

    private func expand(_ path: String?) -> String? {
        guard let path else { return nil }
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }
}
