"""The browser transports (Pyodide): fetch (fetch.py) and synchronous XMLHttpRequest in web workers (xhr.py),
with every platform probe in platform.py."""
