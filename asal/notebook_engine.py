"""papermill's engine for this project's notebooks: `papermill --engine asal ...`.

The same as papermill's own (nbclient), with four changes for a person at the terminal:

- The kernel's own log is kept to errors. ipykernel 7 warns at every start that its local
  TCP transport is not encrypted ("Kernel is running over TCP without encryption"), a
  line that says nothing about the run. (Reaching the kernel over IPC instead, which has
  no such warning, left a rare ZMQ traceback at a kernel's shutdown in CI.)
- The kernel writes to the terminal's descriptor 2 directly (ipykernel's
  `capture_fd_output` off). By default ipykernel reads descriptor 2 through a pipe in a
  daemon thread and copies it to the terminal from there; a line written just before the
  kernel shuts down (a stage's last sentence, such as 03's stop for labels) could then
  reach the notebook and not the terminal. asal/progress.py's `say` writes the line to
  the notebook's output and to descriptor 2 itself.
- No interrupt before the kernel's shutdown (see `QuietKernelManager`), whose only trace
  is an ERROR line about a KeyboardInterrupt.
- No cell-by-cell progress bar: the stages print their own progress lines, and tqdm's
  redrawn bar would be drawn over them.

Whatever the notebook prints, warnings included, still shows in the notebook. Registered
as an entry point (pyproject.toml), so an installed asal makes `--engine asal` available
to papermill and to the workflow's jobs.
"""

from __future__ import annotations

from jupyter_client.manager import KernelManager


class QuietKernelManager(KernelManager):
    """A kernel whose application logs errors only (its start-up warnings are not), and
    whose descriptor 2 is the terminal's (see the module's docstring)."""

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if any("ipykernel" in part for part in cmd):
            cmd += ["--IPKernelApp.log_level=ERROR", "--IPKernelApp.capture_fd_output=False"]
        return cmd

    async def _async_interrupt_kernel(self):
        # jupyter_client sends SIGINT before every shutdown request, to stop a cell still
        # running. papermill shuts a kernel down once its cells have run (or one failed),
        # and a SIGINT that lands while the kernel finishes its last reply only prints
        # "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel." on the terminal. A
        # kernel that does not stop on the shutdown request is still sent SIGTERM, then
        # SIGKILL, by jupyter_client.
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


def _engine():
    from papermill.engines import NBClientEngine

    class AsalEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, **kwargs):
            return super().execute_notebook(nb, kernel_name, **{**kwargs,
                                                                "progress_bar": False})

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
