"""The engine: what runs a model on a server or on several — the options ``execute`` takes (options.py), one
server in one event loop with its capabilities and config cache (server.py, configs.py), several servers as one
(pool.py), the sessions of each event loop (registry.py), the ``Executor`` both satisfy (executor.py) and the one
deadline rule (deadline.py). Above the values and the client; below the API and the front ends."""
