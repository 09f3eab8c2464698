"""The static files storage of a served site: whitenoise's hashed-name manifest storage with
compressed variants, minus the rewriting of ``sourceMappingURL`` comments.

The vendored minified assets (Bootstrap, htmx …) end with a ``sourceMappingURL`` comment
naming a ``.map`` file that is not vendored; Django's manifest storage would try to hash
that missing file and make ``collectstatic`` fail. The comment is left as it is (a browser
only asks for the map when its developer tools are open, and gets a 404).
"""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns: Any) -> tuple[Any, ...]:
    kept = []
    for extension, rules in patterns:
        rules = tuple(
            rule
            for rule in rules
            if "sourceMappingURL" not in (rule if isinstance(rule, str) else rule[0])
        )
        kept.append((extension, rules))
    return tuple(kept)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)
