# The benchmark plot: two panels from the data files bench.py writes.
#   gnuplot -e "dir='results/X'" tests/bench/plot.gp   -> dir/results.png
# Top: throughput of both servers per case. Bottom: every ratio
# dice/redis (log scale), with the issue's target as a black mark where
# there is one; a green bar meets its target (or, without a target, is
# better than redis), a red one does not.
if (!exists("dir")) dir = "."
if (!exists("title")) title = "dice-server vs redis-server"
set terminal pngcairo size 1500,1200 font "sans,10" noenhanced
set output dir."/results.png"
set datafile missing "NaN"
set multiplot layout 2,1 title title font "sans,13"

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set ylabel "thousand requests / s (log scale)"
set logscale y
set rmargin 16
set bmargin 9
set xtics rotate by -35 left nomirror
set key top left
set title "Throughput (redis-benchmark, median of rounds)"
set yrange [1:*]
plot dir."/plot-tput.dat" using 2:xtic(1) title "dice-server" lc rgb "#1f77b4", \
     "" using 3 title "redis-server" lc rgb "#d62728"

set title "Ratio dice / redis (for req/s higher is better, for the rest lower); black mark = target, green = met or better"
set ylabel "ratio (log scale)"
set yrange [*:*]
set style data boxes
set style fill solid 0.8 border -1
set boxwidth 0.7
unset key
# Column 4 is 1 where the target is met (or, without a target, where
# dice does better than redis).
plot dir."/plot-ratio.dat" using 0:2:($4 != 0 ? 0x2ca02c : 0xd62728):xtic(1) with boxes lc rgb variable, \
     "" using 0:3 with points pt 7 ps 1.6 lc rgb "black", \
     1 with lines lc rgb "gray40" dt 2
unset multiplot
