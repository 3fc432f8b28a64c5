"""Build hook, beside pyproject.toml (which holds all metadata): a wheel of idverify carries the declared models of
``models/`` inside the package, as ``idverify/models``, so a normal ``pip install .`` finds them
(``idverify.app.default_models_dir``). Editable installs keep reading the repository's ``models/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

#: What a deployment needs from models/: the ONNX files, their manifests, licences and provenance (not models/build).
MODEL_FILES = ("*.onnx", "*.toml", "*.md", "LICENSE.*", "pad/*.onnx", "pad/*.json")


class BuildPyWithModels(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = Path(__file__).resolve().parent / "models"
        target = Path(self.build_lib) / "idverify" / "models"
        for pattern in MODEL_FILES:
            for path in sorted(source.glob(pattern)):
                destination = target / path.relative_to(source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)


setup(cmdclass={"build_py": BuildPyWithModels})
