# async.gp: ops/s per depth, arc and hiredis on every loop plus the raw
# floor, from summary.py's medians. gnuplot -e "csvdir='DIR'; server='redis'"
set terminal svg size 900,560 dynamic font "sans,11"
set datafile separator ","
set termoption noenhanced
set key outside right top
set logscale x 2
set logscale y 10
set xrange [0.7:6000]
set xtics (1, 16, 256, 4096)
set xlabel "commands in flight (depth)"
set ylabel "SET commands per second"
set grid
set title sprintf("arc and hiredis, one connection, against %s (medians)", \
    server eq "redis" ? "redis-server" : "a null server")
f = sprintf("%s/async-%s-medians.csv", csvdir, server)
plot f using 1:2 title "raw floor" with linespoints lw 2 lc rgb "black" dt 2, \
     for [i=0:4] f using 1:(column(3 + 2*i)) title columnheader(3 + 2*i) \
         with linespoints lw 2 lc i+1 pt 7, \
     for [i=0:4] f using 1:(column(4 + 2*i)) title columnheader(4 + 2*i) \
         with linespoints lw 1 lc i+1 dt 3 pt 6
