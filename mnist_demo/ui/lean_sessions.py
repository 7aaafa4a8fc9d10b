"""Sessions without Gradio's copy of every component's settings (it serves deep links only).

When a session first calls the server, Gradio 6.31 builds that session's copy of the
settings of all ~140 components of the page (`SessionState.config_values`): about 240 kB
and 30-60 ms of the server's Python time (one core, holding the lock every request needs),
and keeps it with the session. Every input's last value is written into it too: a 500 KB
drawing stays in the session. Gradio reads this copy only to make a "deep link" (a URL
that reopens the page as the session left it), which this app does not offer. A script
that sends each request from a new made-up session made the server do this 50 times a
second (docs/reliability.md).

    use_lean_sessions(app)   # before the first request: in the app's lifespan

What a session does keep is unchanged: its `gr.State` values and the components a handler
updated for it.
"""

from gradio.state_holder import SessionState, StateHolder


class _SettingsNotCopied(dict):
    """Stands in for a session's `config_values`: nothing written to it is kept."""

    def __setitem__(self, key, value) -> None:
        pass


class _PageWithoutComponents:
    """What `SessionState.__init__` reads of the Blocks, with no components to copy."""

    def __init__(self, blocks):
        self.default_config = blocks.default_config
        self.blocks = {}


class LeanSessionState(SessionState):
    """A session's state, without the per-session copy of the components' settings."""

    def __init__(self, blocks):
        super().__init__(_PageWithoutComponents(blocks))
        self.config_values = _SettingsNotCopied()

    def _update_config(self, key: int) -> None:
        pass  # a deep link's copy of a component's settings: not kept

    def _update_value_in_config(self, key: int, value) -> None:
        pass  # a deep link's copy of an input's last value: not kept


class LeanStateHolder(StateHolder):
    """Gradio's `StateHolder` (the sessions of a running app), making lean sessions."""

    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            self.session_data[session_id] = LeanSessionState(self.blocks)
        return super().__getitem__(session_id)


def use_lean_sessions(app) -> None:
    """From now on the running `app` (Gradio's FastAPI App) makes lean sessions; sessions it
    already has stay as they are."""
    holder = LeanStateHolder()
    old = app.state_holder
    holder.session_data, holder.time_last_used = old.session_data, old.time_last_used
    holder.set_blocks(app.get_blocks())
    app.state_holder = holder
