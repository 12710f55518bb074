import Foundation
import Testing

/// `portcullis --version` and where its revision comes from
/// (Plugins/BuildRevision/revision.sh, run by a prebuild command).
extension CLITests {
    @Suite("--version names the revision it was built from")
    struct Version {
        /// The package's root: Tests/PortcullisCLITests/VersionTests.swift is two levels below it.
        static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        static let script = packageRoot.appendingPathComponent("Plugins/BuildRevision/revision.sh").path
        static let git = Host.executable("git", preferring: ["/usr/bin/git"])

        /// `revision.sh text DIR`: the text `--version` would carry for a build of DIR.
        static func revisionText(of directory: String) throws -> String {
            let result = try Subprocess.run("/bin/sh", [script, "text", directory])
            try #require(result.status == 0, "\(result)")
            return result.out.trimmingCharacters(in: .newlines)
        }

        static func runGit(_ arguments: [String], in directory: String) throws {
            let gitPath = try #require(git)
            let result = try Subprocess.run(
                gitPath, ["-C", directory] + arguments,
                environment: [
                    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
                    "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
                ])
            try #require(result.status == 0, "\(result)")
        }

        @Test("portcullis VERSION (git HASH[-dirty]) or (unknown revision): a commit of this checkout, its HEAD once rebuilt")
        func versionLine() throws {
            let result = try CLI.run(["--version"])
            #expect(result.status == 0, "\(result)")
            let line = result.out.trimmingCharacters(in: .newlines)
            let shape = #/^portcullis [0-9]+\.[0-9]+\.[0-9]+ \((git [0-9a-f]{7,40}(-dirty)?|unknown revision)\)$/#
            #expect(line.wholeMatch(of: shape) != nil, "\(result)")
            // Built from this checkout (unless PORTCULLIS_BIN names another binary): its HEAD, or an
            // earlier commit of it when the binary was not rebuilt since.
            guard ProcessInfo.processInfo.environment["PORTCULLIS_BIN"] == nil,
                FileManager.default.fileExists(atPath: Self.packageRoot.appendingPathComponent(".git").path)
            else { return }
            let expected = try Self.revisionText(of: Self.packageRoot.path)
            let hash = { (text: String) in text.replacingOccurrences(of: "-dirty", with: "") }
            if line.hasSuffix("(\(hash(expected)))") || line.hasSuffix("(\(hash(expected))-dirty)") { return }
            // A binary built before the last commit (`swift test --skip-build`): its revision
            // must still be a commit of this checkout's history, not a made-up or foreign one.
            let built = try #require(line.firstMatch(of: #/\(git ([0-9a-f]+)/#).map { String($0.1) }, "\(result) vs \(expected)")
            let ancestor = try Subprocess.run(
                try #require(Self.git), ["-C", Self.packageRoot.path, "merge-base", "--is-ancestor", built, "HEAD"])
            #expect(ancestor.status == 0, "the binary says \(line), not a commit of this checkout (at \(expected))\n\(ancestor)")
        }

        @Test("no git and no REVISION file: unknown revision; the unfilled $Format placeholder does not count")
        func unknownRevision() throws {
            let directory = try TemporaryDirectory(prefix: "portcullis-revision")
            defer { directory.remove() }
            #expect(try Self.revisionText(of: directory.path) == "unknown revision")
            try Data("$Format:%h$\n".utf8).write(to: directory.url.appendingPathComponent("REVISION"))
            #expect(try Self.revisionText(of: directory.path) == "unknown revision")
            try Data("not a hash; rm -rf /\n".utf8).write(to: directory.url.appendingPathComponent("REVISION"))
            #expect(try Self.revisionText(of: directory.path) == "unknown revision")
        }

        @Test("a source tarball: the REVISION file git archive or contrib/package.sh filled")
        func tarballRevision() throws {
            let directory = try TemporaryDirectory(prefix: "portcullis-revision")
            defer { directory.remove() }
            try Data("1a2b3c4\n".utf8).write(to: directory.url.appendingPathComponent("REVISION"))
            #expect(try Self.revisionText(of: directory.path) == "git 1a2b3c4")
        }

        @Test(
            "a git checkout: HEAD, -dirty once a file changes; a package inside another repository is not that repository",
            .enabled(if: Version.git != nil, "git is not installed"))
        func gitRevision() throws {
            let directory = try TemporaryDirectory(prefix: "portcullis-revision")
            defer { directory.remove() }
            let root = directory.path
            try Self.runGit(["init", "-q"], in: root)
            try Data("a\n".utf8).write(to: directory.url.appendingPathComponent("file"))
            try Self.runGit(["add", "file"], in: root)
            try Self.runGit(["commit", "-q", "-m", "one"], in: root)
            let head = try Subprocess.run(try #require(Self.git), ["-C", root, "rev-parse", "--short", "HEAD"])
            let hash = head.out.trimmingCharacters(in: .newlines)
            #expect(try Self.revisionText(of: root) == "git \(hash)")
            try Data("b\n".utf8).write(to: directory.url.appendingPathComponent("file"))
            #expect(try Self.revisionText(of: root) == "git \(hash)-dirty")
            // An unpacked tarball below the checkout: its own REVISION, not the outer HEAD.
            let inner = directory.url.appendingPathComponent("unpacked")
            try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: false)
            #expect(try Self.revisionText(of: inner.path) == "unknown revision")
            try Data("abcdef0\n".utf8).write(to: inner.appendingPathComponent("REVISION"))
            #expect(try Self.revisionText(of: inner.path) == "git abcdef0")
        }
    }
}
