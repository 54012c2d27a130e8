"""The project's own stylesheets and scripts are sent minified: collectstatic minifies them
(rCSSmin, rJSmin) before whitenoise hashes and compresses them. The files in static/ stay
readable, with their comments; third-party files (the admin's) are left as they ship."""

from pathlib import Path

import rcssmin
import rjsmin
from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

MINIFIERS = {".css": rcssmin.cssmin, ".js": rjsmin.jsmin}


def minify(name: str, text: str) -> str:
    """`text` of the static file `name` as production sends it."""
    minifier = MINIFIERS.get(Path(name).suffix)
    return minifier(text) if minifier else text


def is_own(source_storage) -> bool:
    """Whether a file found by collectstatic comes from the project's static/ folder."""
    location = getattr(source_storage, "location", None)
    return location is not None and Path(location).resolve() in {
        Path(folder).resolve() for folder in settings.STATICFILES_DIRS
    }


class MinifiedManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def post_process(self, paths, dry_run=False, **options):
        """Minify the collected copies of our own files, then let the manifest hash (and
        whitenoise compress) those copies: the manifest reads each file from the storage given
        in `paths`, which for them is now this one rather than static/."""
        if not dry_run:
            paths = dict(paths)
            for name, (source_storage, _source_path) in list(paths.items()):
                if Path(name).suffix in MINIFIERS and is_own(source_storage):
                    path = Path(self.path(name))
                    path.write_text(minify(name, path.read_text(encoding="utf-8")), "utf-8")
                    paths[name] = (self, name)
        yield from super().post_process(paths, dry_run, **options)
