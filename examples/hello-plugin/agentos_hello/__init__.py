"""An example AgentOS plugin: greetings in a few languages.

`EXPERTS` is what the `agentos.experts` entry point in pyproject.toml names; AgentOS loads it
when it discovers installed experts.
"""

from agentos_hello.farewell import farewell
from agentos_hello.greeter import Greeter, Greeting, GreetInput, Language, ShoutInput

EXPERTS = [Greeter, farewell]

__all__ = ["EXPERTS", "GreetInput", "Greeter", "Greeting", "Language", "ShoutInput", "farewell"]
