// The git revision `portcullis --version` prints, found at build time.
//
// A prebuild command (it runs before every build, so a new commit or an edit
// is never missed) runs revision.sh beside this file with /bin/sh. The script
// writes BuildRevision.swift into the plugin's work directory, and rewrites it
// only when the revision changed, so an unchanged tree recompiles nothing.
// Where the revision comes from, and what is printed without one, is in
// revision.sh. This is a host tool run by SwiftPM, not part of the binary:
// Foundation is used here for URL, which PackagePlugin's API is written in.

import Foundation
import PackagePlugin

@main
struct BuildRevisionPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let package = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = package.appending(path: "Plugins/BuildRevision/revision.sh")
        return [
            .prebuildCommand(
                displayName: "Git revision of \(target.name)",
                executable: URL(filePath: "/bin/sh"),
                arguments: [
                    script.path(percentEncoded: false), "swift", package.path(percentEncoded: false),
                    output.appending(path: "BuildRevision.swift").path(percentEncoded: false),
                ],
                outputFilesDirectory: output)
        ]
    }
}
