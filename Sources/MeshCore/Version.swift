/// The DAGI Mesh release this binary belongs to.
public enum DAGIVersion {
    public static let current = "0.1.0"
}
