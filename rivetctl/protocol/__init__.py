"""The RivetKit 2.x wire protocol, pure (no I/O): values, messages, json/cbor/bare codecs, actor addressing.

Start with :mod:`~rivetctl.protocol.values` (the value model), :mod:`~rivetctl.protocol.messages` (message
types), :mod:`~rivetctl.protocol.encoding` (codecs) and :mod:`~rivetctl.protocol.query` (keys, URLs).
"""
