"""Say hello and which Python runs the script."""

import platform

print("Hello from the project runner!")
print(f"Python {platform.python_version()}")
