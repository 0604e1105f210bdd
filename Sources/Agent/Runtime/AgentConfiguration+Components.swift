import MetricsModel

extension AgentConfiguration {
    /// The identity sent with every batch and as tags.
    public var identity: AgentIdentity {
        AgentIdentity(id: agentID, host: host, region: region, version: AgentVersion.current)
    }

    /// The tags every agent point carries: `agent`, `host`, `region`.
    public var baseTags: [String: String] { ["agent": agentID, "host": host, "region": region] }

    /// Settings of the delivery stage (spool, forwarder, batches).
    public var deliveryConfiguration: DeliveryConfiguration {
        var d = DeliveryConfiguration(
            ingestURL: ingestURL ?? "", apiKeyID: apiKeyID ?? "", apiKeyFile: apiKeyFile ?? "", spoolPath: spoolPath)
        d.caFile = caFile
        d.spoolMaxBytes = spoolMaxBytes
        d.batchMaxPoints = batchMaxPoints
        d.batchMaxBytes = batchMaxBytes
        d.batchMaxAge = batchMaxAgeSeconds
        d.retryInitial = retryInitialSeconds
        d.retryMax = retryMaxSeconds
        d.shutdownGrace = shutdownGraceSeconds
        return d
    }

    /// Settings of the probes.
    public var probeSettings: ProbeSettings {
        ProbeSettings(
            httpTargets: httpTargets, pingTargets: pingTargets, stubStatusURL: stubStatusURL,
            interval: probeIntervalSeconds, pingCount: pingCount, pingInterval: pingIntervalSeconds,
            httpTimeout: httpTimeoutSeconds, expectStatus: httpExpectStatus, expectBody: httpExpectBody,
            followRedirects: httpFollowRedirects, witnesses: witnessTargets, witnessTimeout: witnessTimeoutSeconds)
    }

    /// Settings of the log tail.
    public var logTailOptions: LogTailOptions {
        var o = LogTailOptions()
        o.maxLineLength = maxLineBytes
        o.startAtBeginning = readFromStart
        return o
    }
}
