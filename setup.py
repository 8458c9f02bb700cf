"""`pip install --no-build-isolation --no-deps .` — installs the flatmin Python package (offline).

The package is what the CMake build assembles in build/python/flatmin (python/flatmin/*.py and the
flatmin._C extension, linked against the LibTorch of the torch that this interpreter imports). This
script runs that build (configure once, then the `flatmin_python` target; incremental) and packages
the result. FLATMIN_BUILD_DIR selects another build directory (default: build/ in the checkout).
"""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeBuildPy(build_py):
    def run(self):
        build_dir = os.environ.get("FLATMIN_BUILD_DIR", os.path.join(ROOT, "build"))
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                                   "-DFLATMIN_PYTHON=ON", f"-DPython3_EXECUTABLE={sys.executable}"])
        jobs = str(os.cpu_count() or 2)
        subprocess.check_call(["cmake", "--build", build_dir, "-j", jobs, "--target", "flatmin_python"])
        super().run()
        built = glob.glob(os.path.join(build_dir, "python", "flatmin", "_C*.so"))
        if not built:
            raise RuntimeError(f"flatmin: no _C extension in {build_dir}/python/flatmin after the build")
        dst = os.path.join(self.build_lib, "flatmin")
        os.makedirs(dst, exist_ok=True)
        for so in built:
            shutil.copy2(so, dst)


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(
    name="flatmin",
    version="0.1.0",
    description="Flat-minima optimizers (MIAdam, DualAdam/InvAdam, Adam+CM, Adai), exact Hessian spectra and "
                "escape-time theory for PyTorch, with a C++ core",
    packages=["flatmin"],
    package_dir={"flatmin": "python/flatmin"},
    python_requires=">=3.9",
    cmdclass={"build_py": CMakeBuildPy},
    distclass=BinaryDistribution,
    zip_safe=False,
)
