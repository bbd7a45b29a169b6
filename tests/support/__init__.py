"""Test support: databases, a real server on a free port, real socket clients."""
