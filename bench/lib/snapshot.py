"""Copies the committed tree (`git archive HEAD`) into a folder, touching only the
files that changed, so cargo rebuilds only what a new commit changed.

    python3 bench/lib/snapshot.py REPO DEST     # prints the commit it copied

The benchmark measures committed code: in a checkout several people edit at once,
the working tree may hold someone's half-finished change at any moment.
"""

import io
import os
import shutil
import subprocess
import sys
import tarfile


def main(repo, dest):
    commit = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "-C", repo, "archive", "--format=tar", commit], check=True,
                             capture_output=True).stdout
    wanted = set()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            path = os.path.join(dest, member.name)
            if member.isdir():
                os.makedirs(path, exist_ok=True)
                continue
            if not member.isfile():
                continue
            wanted.add(os.path.normpath(path))
            data = tar.extractfile(member).read()
            try:
                with open(path, "rb") as f:
                    if f.read() == data:
                        continue
            except OSError:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, member.mode)
    # Files deleted since the last snapshot go too (build outputs live elsewhere).
    for root, dirs, files in os.walk(dest):
        for name in files:
            path = os.path.normpath(os.path.join(root, name))
            if path not in wanted:
                os.remove(path)
        for name in dirs:
            if not os.listdir(os.path.join(root, name)):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    print(commit)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
