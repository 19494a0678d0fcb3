// Registry store: snapshot import/export and Check Status through the binary.
mod registry;
