import Foundation  // SettingsFile uses Foundation members the Agent module imports elsewhere
// Fuzz target: the agent's settings file (Agent/Config/SettingsFile), both spellings: an odd first
// byte reads the rest as flat YAML (`agent.yaml`), an even one as an env file (`agent.env`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSettings(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    _ = try? SettingsFile(path: data[0] & 1 == 1 ? "agent.yaml" : "agent.env", text: text)
    return 0
}
