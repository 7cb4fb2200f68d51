#!/usr/bin/env python3
"""Memory under a flood of valid but distinct requests.

Usage: start a release hamlet on a fresh database, then
    python3 bench/scripts/memory-flood.py PORT PID
It sends 20,000 distinct public queries with large answers (every page's body,
twice) and registers 3,000 distinct persisted queries of about 29 KB, from 8
threads, and prints the server's RSS before, at its peak and after. Every
request is within hamlet's limits. Python's standard library only.
"""
import http.client, json, hashlib, sys, threading, time, subprocess, os
port=int(sys.argv[1]); pid=int(sys.argv[2])
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])/1024
    return 0
peak=[rss()]
print("start RSS", peak[0])
def worker(start, n, kind):
    c=http.client.HTTPConnection("127.0.0.1",port)
    for i in range(start,start+n):
        if kind=="answers":
            q="{ a%d: pages(first: 50) { edges { node { body bodyHtml } } } b%d: pages(first: 50) { edges { node { body bodyHtml summary } } } }"%(i,i)
            body={"query":q}
        else:
            q="# %d %s\n{ organisation { name } }"%(i,"p"*29000)
            body={"query":q,"extensions":{"persistedQuery":{"version":1,"sha256Hash":hashlib.sha256(q.encode()).hexdigest()}}}
        data=json.dumps(body)
        c.request("POST","/graphql",data,{"content-type":"application/json"})
        r=c.getresponse(); r.read()
        if i%500==0: peak[0]=max(peak[0],rss())
threads=[threading.Thread(target=worker,args=(k*5000,5000,"answers")) for k in range(4)]
threads+=[threading.Thread(target=worker,args=(100000+k*750,750,"pq")) for k in range(4)]
[t.start() for t in threads]
while any(t.is_alive() for t in threads):
    peak[0]=max(peak[0],rss()); time.sleep(0.2)
print("peak RSS", peak[0], "end RSS", rss())
