"""Materialised-path arithmetic shared by the department, manager and sponsor trees.

A path is the concatenation of fixed-width base-36 segments, one per node from the root
down to the node itself. A subtree is then the key range ``[path, path + PATH_UPPER)``.
"""

from __future__ import annotations

from salesops.org.models import PATH_ALPHABET, PATH_SEGMENT, PATH_UPPER

_MAX_ID = 36**PATH_SEGMENT - 1


def encode_segment(node_id: int) -> str:
    if node_id < 0 or node_id > _MAX_ID:
        raise ValueError(f"id {node_id} does not fit a path segment")
    digits = []
    n = node_id
    for _ in range(PATH_SEGMENT):
        n, r = divmod(n, 36)
        digits.append(PATH_ALPHABET[r])
    return "".join(reversed(digits))


def decode_segment(segment: str) -> int:
    return int(segment, 36)


def child_path(parent_path: str, node_id: int) -> str:
    return parent_path + encode_segment(node_id)


def path_ids(path: str) -> list[int]:
    """Ids from the root down to the node itself."""
    return [decode_segment(path[i : i + PATH_SEGMENT]) for i in range(0, len(path), PATH_SEGMENT)]


def path_depth(path: str) -> int:
    """0 for a root."""
    return len(path) // PATH_SEGMENT - 1


def subtree_bounds(path: str) -> tuple[str, str]:
    """(low inclusive, high exclusive) keys of the subtree rooted at ``path``."""
    return path, path + PATH_UPPER
