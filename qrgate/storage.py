"""Static files storage: WhiteNoise's compressed, hashed files, our ES modules included."""

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """The screens' JavaScript is native ES modules (static/js/) served as they are. A
    module's `import ... from "./queue.js";` must name the hashed file, or a browser could
    mix a cached old module with a new one after an upgrade; Django rewrites such imports
    (statements ending in `;`, paths starting with `./` or `../`).

    Only under js/, our own code: Django's `support_js_module_import_aggregation` would also
    rewrite third-party files, and django-htmx's extensions import "../htmx", which does not
    exist as a file, so collectstatic would fail.
    """

    patterns = CompressedManifestStaticFilesStorage.patterns + (
        ("js/*.js", HashedFilesMixin._js_module_import_aggregation_patterns[1]),
    )
