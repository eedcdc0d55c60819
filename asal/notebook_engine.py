"""papermill's engine for this project's notebooks: `papermill --engine asal ...`.

The same as papermill's own (nbclient), with the kernel's own log kept to errors.
ipykernel 7 warns at every start that its local TCP transport is not encrypted ("Kernel is
running over TCP without encryption"), a line that says nothing about the run; a person
running README's commands then sees only the stage's own progress. Whatever the notebook
prints, warnings included, still shows. (Reaching the kernel over IPC instead, which has
no such warning, left a rare ZMQ traceback at a kernel's shutdown in CI.) Registered as an
entry point (pyproject.toml), so an installed asal makes `--engine asal` available to
papermill and to the workflow's jobs.
"""

from __future__ import annotations

from jupyter_client.manager import KernelManager


class QuietKernelManager(KernelManager):
    """A kernel whose application logs errors only (its start-up warnings are not)."""

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if any("ipykernel" in part for part in cmd):
            cmd.append("--IPKernelApp.log_level=ERROR")
        return cmd


def _engine():
    from papermill.engines import NBClientEngine

    class AsalEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            kwargs.setdefault("kernel_manager_class", QuietKernelManager)
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return AsalEngine


def __getattr__(name):
    # made on first use: papermill.engines loads its entry points (this one) while it is
    # imported, so importing it here at the top would be circular
    if name == "AsalEngine":
        globals()["AsalEngine"] = engine = _engine()
        return engine
    raise AttributeError(name)
