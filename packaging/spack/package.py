# Spack recipe for tlsweep, in the style of Spack's h5bench recipe.
#
# NOT TESTED WITH SPACK: Spack cannot run where this project is developed (no
# network for its sources and compilers). What is tested
# (tests/test_packaging.py): that this file is valid Python and that its
# depends_on() list names exactly what CMakeLists.txt looks for, so that a
# dependency added to one and not the other fails the test suite.
#
# Use it from a local repository:
#   spack repo create ~/spack-tlsweep && mkdir -p ~/spack-tlsweep/packages/tlsweep
#   cp packaging/spack/package.py ~/spack-tlsweep/packages/tlsweep/
#   spack repo add ~/spack-tlsweep
#   spack install tlsweep@main ^openmpi ^hdf5@1.14     # `git` below: set it to your clone
#   spack test run tlsweep                              # --version and a one-configuration sweep
# (Spack >= 1.0 splits the build systems into their own repository: there,
# `from spack_repo.builtin.build_systems.cmake import CMakePackage` comes first.)

import glob
import os

from spack.package import *


class Tlsweep(CMakePackage):
    """When does transfer learning help? tlsweep runs the article 'Transfer
    Learning (1)' experiment (RBF SVM from scratch, direct transfer, MLP with an
    MMD loss) over a grid of domain shift, MMD weight, labelled target size and
    seed with MPI, into one results file written with parallel HDF5."""

    homepage = "https://example.org/tlsweep"  # replace with the project's address
    git = "https://example.org/tlsweep.git"  # replace with the project's repository

    maintainers("tlsweep-maintainers")

    license("MIT")

    version("main", branch="main")

    depends_on("c", type="build")
    depends_on("cmake@3.25:", type="build")
    depends_on("pkgconfig", type="build")

    depends_on("mpi")
    depends_on("hdf5@1.10:+mpi+hl")
    depends_on("openblas")
    depends_on("libsvm")
    depends_on("libyaml")
    depends_on("zlib-api")
    depends_on("libdeflate")

    def cmake_args(self):
        # Spack's libsvm installs include/svm.h and lib/libsvm.so.N (C++, so not
        # the static libsvm.a); tlsweep includes <libsvm/svm.h> and links C only
        libsvm = self.spec["libsvm"].prefix
        shim = join_path(self.stage.path, "libsvm-include")
        mkdirp(join_path(shim, "libsvm"))
        header = join_path(shim, "libsvm", "svm.h")
        if not os.path.exists(header):
            os.symlink(join_path(libsvm.include, "svm.h"), header)
        shared = sorted(glob.glob(join_path(libsvm.lib, "libsvm.so*")))
        args = [
            self.define("BUILD_TESTING", False),
            self.define("TLSWEEP_DOCS", False),
            self.define("LIBSVM_INCLUDE_DIR", shim),
        ]
        if shared:
            args.append(self.define("LIBSVM_LIBRARY", shared[0]))
        return args

    def mpi_launcher(self):
        commands = ["mpirun", "mpiexec", "srun"]
        return which(*commands, path=[self.spec["mpi"].prefix.bin]) or which(*commands)

    def test_version(self):
        """tlsweep --version prints the version"""
        tlsweep = which(self.prefix.bin.tlsweep)
        out = tlsweep("--version", output=str.split, error=str.split)
        assert "tlsweep" in out

    def test_tiny_sweep(self):
        """a one-configuration sweep under MPI completes and its file reads back"""
        tlsweep = which(self.prefix.bin.tlsweep)
        launcher = self.mpi_launcher()
        assert launcher, "no mpirun, mpiexec or srun"
        tiny = ["--set", "grid.shift=[0]", "--set", "grid.lambda=[0]", "--set", "grid.n_target=[4]",
                "--set", "grid.seed=[0]", "--set", "train.epochs=1", "--set", "train.finetune_epochs=1",
                "--set", "data.n_source=40", "--set", "data.n_test=20"]
        launcher("-n", "1", self.prefix.bin.tlsweep, "run", *tiny, "-o", "smoke.h5", "--force")
        out = tlsweep("status", "smoke.h5", output=str.split, error=str.split)
        assert "1 done" in out, out
