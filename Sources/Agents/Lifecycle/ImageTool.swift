import JSON

/// What an image says about itself before it is pulled.
public struct ImageInfo: Sendable {
    public var digest: String
    public var labels: [String: String]
}

/// Module images through skopeo (registry access) and umoci (layer
/// extraction): no container daemon. Registries on loopback are reached
/// over plain HTTP, any other with TLS verified.
public struct ImageTool: Sendable {
    /// skopeo's signature policy file (skopeo refuses to run without one).
    public var policyFile: String

    public init(policyFile: String) { self.policyFile = policyFile }

    private func tlsFlag(_ image: ImageReference, _ flag: String) -> [String] {
        image.isLoopback ? ["\(flag)=false"] : []
    }

    /// Reads the image's manifest and labels from the registry.
    /// - Throws: `.invalid` when the image or the registry cannot be reached (nothing is created then).
    public func inspect(_ image: ImageReference) async throws(LifecycleError) -> ImageInfo {
        let result = try await ExternalTool.run("/usr/bin/skopeo",
                                                ["--policy", policyFile, "inspect"] + tlsFlag(image, "--tls-verify") + ["docker://\(image)"])
        guard result.status == 0 else {
            let why = result.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(result.status)"
            throw .invalid(parameter: "image", "cannot read \(image) from its registry: \(why)")
        }
        guard let json = try? JSONValue.parse(result.stdout), case .string(let digest)? = json["Digest"] else {
            throw .tool("skopeo inspect \(image)", status: 0, output: "unexpected output")
        }
        var labels: [String: String] = [:]
        if case .object(let pairs)? = json["Labels"] {
            for (k, v) in pairs { if case .string(let s) = v { labels[k] = s } }
        }
        return ImageInfo(digest: digest, labels: labels)
    }

    /// Pulls the image into `work` (an OCI layout).
    public func pull(_ image: ImageReference, work: String) async throws(LifecycleError) {
        try await ExternalTool.check("/usr/bin/skopeo", ["--policy", policyFile, "copy", "--quiet"]
                                     + tlsFlag(image, "--src-tls-verify") + ["docker://\(image)", "oci:\(work)/oci:image"])
    }

    /// Unpacks a pulled image's root file system to `work/rootfs`; returns that path.
    public func extract(work: String) async throws(LifecycleError) -> String {
        try await ExternalTool.check("/usr/bin/umoci", ["raw", "unpack", "--rootless", "--image", "\(work)/oci:image", "\(work)/rootfs"])
        return work + "/rootfs"
    }
}
