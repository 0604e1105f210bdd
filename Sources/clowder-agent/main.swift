import Agent
print("clowder-agent \(AgentVersion.current)")
