"""Operating a registry: backups and restores (`kg.ops.backup`, `kg.ops.restore`, with the
manifest that travels with a backup in `kg.ops.manifest`) and health checks that say how to fix
what they find (`kg.ops.doctor`)."""
