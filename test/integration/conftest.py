"""The integration suite runs against the real httpd (Debian apache2) and a
real pebble; all fixtures live in harness/plugin.py so that other suites can
load them with `-p harness.plugin`."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

pytest_plugins = ["harness.plugin"]
