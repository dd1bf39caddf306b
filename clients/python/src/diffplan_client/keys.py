"""The key-expression namespace (docs/PROTOCOL.md, "Keys"), as the bridge crate's ``keys.rs``.

Every key starts with a namespace (default ``diffplan``) of one or more ``/``-separated chunks, so
that runs sharing a network stay apart. Ids and chunks use only ``[A-Za-z0-9_-]``, 1 to 64
characters, so that they can never be key-expression syntax (``*``, ``$``, ``/``).
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

from .errors import InvalidMessage

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

#: The namespace every diffplan node uses unless told otherwise.
DEFAULT_NAMESPACE = "diffplan"


def check_id(field: str, value: object) -> None:
    """Raises :class:`InvalidMessage` naming ``field`` unless ``value`` is a valid id."""
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise InvalidMessage(field, f"{value!r} is not 1 to 64 of the characters A-Z, a-z, 0-9, '_' and '-'")


class Namespace:
    """The keys of one namespace."""

    def __init__(self, root: str = DEFAULT_NAMESPACE):
        if not isinstance(root, str):
            raise InvalidMessage("namespace", f"{root!r} is not a string")
        for chunk in root.split("/"):
            check_id(f"namespace {root!r} chunk", chunk)
        self.root = root

    def __repr__(self) -> str:
        return f"Namespace({self.root!r})"

    def robot_state(self, robot: str) -> str:
        """Where robot ``robot`` publishes its RobotState, every control step."""
        return f"{self.root}/robot/{robot}/state"

    def all_robot_states(self) -> str:
        """The states of every robot (what a streaming planner subscribes to)."""
        return f"{self.root}/robot/*/state"

    def robot_command(self, robot: str) -> str:
        """Where robot ``robot`` listens for Commands."""
        return f"{self.root}/robot/{robot}/cmd"

    def robot_status(self, robot: str) -> str:
        """Where robot ``robot`` publishes its Heartbeat."""
        return f"{self.root}/robot/{robot}/status"

    def plan_stream(self, planner: str, robot: str) -> str:
        """Where planner ``planner`` streams plans for robot ``robot``."""
        return f"{self.root}/planner/{planner}/plan/{robot}"

    def plans_for(self, robot: str) -> str:
        """Plans for robot ``robot`` from any planner (what the robot subscribes to)."""
        return self.plan_stream("*", robot)

    def planner_status(self, planner: str) -> str:
        """Where planner ``planner`` publishes its Heartbeat, every second."""
        return f"{self.root}/planner/{planner}/status"

    def shared_service(self) -> str:
        """The plan service every worker declares: a query reaches exactly one of them."""
        return f"{self.root}/service/plan"

    def worker_service(self, planner: str) -> str:
        """The plan service of worker ``planner`` alone."""
        return f"{self.root}/planner/{planner}/service/plan"

    def task_service(self, task: str) -> str:
        """The plan service every planner of task ``task`` declares: a query reaches one of them."""
        return f"{self.root}/task/{task}/service/plan"

    def describe(self, planner: str) -> str:
        """Where planner ``planner`` answers a query (no payload) with its ModelCard."""
        return f"{self.root}/planner/{planner}/describe"

    def all_describes(self) -> str:
        """Every planner's ModelCard query (ask it with query target ALL)."""
        return self.describe("*")

    def planner_token(self, planner: str) -> str:
        """The liveliness token of planner ``planner``, declared once it can answer."""
        return f"{self.root}/alive/planner/{planner}"

    def all_planner_tokens(self) -> str:
        """The liveliness tokens of all planners."""
        return self.planner_token("*")

    def task_token(self, task: str, planner: str) -> str:
        """The liveliness token planner ``planner`` declares for its task ``task``, with its own."""
        return f"{self.root}/alive/task/{task}/{planner}"

    def task_tokens(self, task: str) -> str:
        """The liveliness tokens of the planners of task ``task``."""
        return self.task_token(task, "*")

    def all_task_tokens(self) -> str:
        """The liveliness tokens of every (task, planner)."""
        return self.task_token("*", "*")

    def robot_token(self, robot: str) -> str:
        """The liveliness token of robot ``robot``."""
        return f"{self.root}/alive/robot/{robot}"

    def planner_of_token(self, key: str) -> Optional[str]:
        """The planner id at the end of a planner token's key, if it is one of this namespace's."""
        prefix = f"{self.root}/alive/planner/"
        return key[len(prefix):] if key.startswith(prefix) else None

    def task_of_token(self, key: str) -> Optional[Tuple[str, str]]:
        """The (task, planner) a task token's key names, if it is one of this namespace's."""
        prefix = f"{self.root}/alive/task/"
        chunks = key[len(prefix):].split("/") if key.startswith(prefix) else []
        return (chunks[0], chunks[1]) if len(chunks) == 2 and all(chunks) else None
