"""The public async client library, shaped like the RivetKit JavaScript client.

from rivetctl.client import Client

async with Client("http://127.0.0.1:6420") as client:
    counter = client.counter.get_or_create("my-counter")
    print(await counter.increment(5))
"""

from rivetctl.client.accessor import ActorAccessor
from rivetctl.client.client import Client
from rivetctl.client.engine import ActorInfo, EngineApi
from rivetctl.client.handle import ActorHandle
from rivetctl.client.options import ClientOptions, resolve_options
from rivetctl.protocol.values import UNDEFINED

__all__ = [
    "UNDEFINED",
    "ActorAccessor",
    "ActorHandle",
    "ActorInfo",
    "Client",
    "ClientOptions",
    "EngineApi",
    "resolve_options",
]
