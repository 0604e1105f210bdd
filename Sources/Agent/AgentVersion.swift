/// The agent's version, sent in every batch (`agent.version`) and printed by `--version`.
public enum AgentVersion {
    public static let current = "0.1.0"
}
