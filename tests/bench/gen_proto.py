#!/usr/bin/python3
"""Write the RESP commands that load COUNT small string keys, for
`redis-cli --pipe`:

    gen_proto.py COUNT OUT

Key i is key:%07d (key:0000000 .. key:0999999 for a million), its value
v<i> (v0 .. v999999). Standard library only.
"""
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_proto.py COUNT OUT")
    count = int(sys.argv[1])
    chunk = []
    with open(sys.argv[2], "wb") as f:
        for i in range(count):
            key = b"key:%07d" % i
            val = b"v%d" % i
            chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                         % (len(key), key, len(val), val))
            if len(chunk) == 10000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


if __name__ == "__main__":
    main()
